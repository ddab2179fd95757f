// The README's operator list is the registry's: a test keeps them in sync.

import Foundation
import ONNXRunTestSupport
import XCTest

@testable import ONNXRun

final class DocumentationTests: XCTestCase {
    func testReadmeListsExactlyTheRegisteredOperators() throws {
        let readme = try String(contentsOf: TestPaths.packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let start = try XCTUnwrap(readme.range(of: "## Supported operators"))
        let rest = readme[start.upperBound...]
        let section = rest[..<(rest.range(of: "\n## ")?.lowerBound ?? rest.endIndex)]
        // Operator names are the backticked words of the section's bullet lines.
        var documented = Set<String>()
        for line in section.split(separator: "\n") where line.hasPrefix("- ") {
            for (index, part) in line.split(separator: "`", omittingEmptySubsequences: false).enumerated()
            where index % 2 == 1 {
                documented.insert(String(part))
            }
        }
        let registered = OperatorRegistry.standard.all
        let names = Set(registered.map { ($0.domain.isEmpty ? "" : $0.domain + ".") + $0.opType })
        XCTAssertEqual(documented.subtracting(names).sorted(), [], "in the README, not registered")
        XCTAssertEqual(names.subtracting(documented).sorted(), [],
                       "registered, not in the README: regenerate it with `onnxrun operators --markdown`")
    }
}
