// The committed list of cases expected not to pass, each with its reason, and the verdict it gives a case.

import Foundation
import ONNXRun

/// `case_name  reason` per line (`#` starts a comment). A listed case that fails is skipped with its reason; a listed
/// case that passes is a failure (a stale line), so the list cannot outlive the gaps it records.
public struct ConformanceExpectations: Sendable {
    /// Reason per case name.
    public private(set) var reasons: [String: String]

    public init(reasons: [String: String] = [:]) {
        self.reasons = reasons
    }

    public init(contentsOf path: String) throws {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ONNXRunError(.io, "cannot read the expectations file: \(error.localizedDescription)", file: path)
        }
        try self.init(parsing: text, source: path)
    }

    public init(parsing text: String, source: String = "<expectations>") throws {
        reasons = [:]
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.prefix { $0 != "#" }.trimmingCharacters(in: .whitespaces)
            guard !line.isEmpty else { continue }
            guard let gap = line.firstIndex(where: \.isWhitespace) else {
                throw ONNXRunError(.invalidArgument, "line \(number + 1): '\(line)' has no reason after the case name",
                                   file: source)
            }
            let name = String(line[..<gap])
            let reason = line[gap...].trimmingCharacters(in: .whitespaces)
            guard reasons[name] == nil else {
                throw ONNXRunError(.invalidArgument, "line \(number + 1): '\(name)' is listed twice", file: source)
            }
            reasons[name] = reason
        }
    }

    /// What `outcome` of `testCase` counts as, given this list.
    public func verdict(for testCase: ConformanceCase, _ outcome: CaseOutcome) -> Verdict {
        switch (outcome, reasons[testCase.name]) {
        case (.passed, nil): .passed
        case (.failed(let why), nil): .failed(why)
        case (.failed(let why), let reason?): .skipped(reason: reason, error: why)
        case (.passed, let reason?): .failed("passes, but the expectations list it as '\(reason)': remove the line")
        }
    }

    public enum Verdict: Sendable, Equatable {
        case passed
        case failed(String)
        /// Failed as the expectations say it does; `error` is what actually went wrong.
        case skipped(reason: String, error: String)
    }
}
