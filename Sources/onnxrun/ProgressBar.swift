// A progress bar on stderr for long `classify` runs, drawn only when stderr is a terminal.

/// `[#########           ] 45/100` on stderr, redrawn in place; only for terminals.
final class ProgressBar {
    let total: Int
    let enabled: Bool
    private var drawn = false

    init(total: Int, enabled: Bool) {
        self.total = total
        self.enabled = enabled
    }

    func update(_ done: Int) {
        guard enabled, total > 0 else { return }
        let width = 30
        let filled = width * done / total
        StandardError.write("\r[" + String(repeating: "#", count: filled) + String(repeating: " ", count: width - filled)
                                + "] \(done)/\(total)")
        drawn = true
    }

    func clear() {
        guard drawn else { return }
        StandardError.write("\r" + String(repeating: " ", count: 50) + "\r")
        drawn = false
    }
}
