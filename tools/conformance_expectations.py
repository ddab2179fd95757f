#!/usr/bin/env python3
"""Proposes Tests/Conformance/expectations.txt lines from `onnxrun conformance` failures, with a reason per case
taken from the actual error (op not implemented, type not supported, out of scope). Review the result by hand:
numeric failures of implemented operators are printed as `wrong result: ...` and must be fixed, not listed.

Run:  onnxrun conformance ../shared/onnx-backend-tests/{node,pytorch-converted,pytorch-operator,simple} \
          --expectations none > /tmp/conformance.txt
      onnxrun operators > /tmp/operators.txt
      python3 tools/conformance_expectations.py /tmp/conformance.txt /tmp/operators.txt
"""

import re
import sys
from collections import defaultdict

STRING_OPS = {"StringNormalizer", "StringSplit", "StringConcat", "RegexFullMatch"}
OUT_OF_SCOPE_DOMAINS = {"ai.onnx.preview.training": "training", "ai.onnx.ml": "the ai.onnx.ml domain"}


def op_reason(message, implemented):
    """`2 operators are not supported: A (ai.onnx, opset 12) used by ...; B (...) used by ...`"""
    ops = re.findall(r"(?:: |; )(\w+) \(([\w.]+), (?:opset (\d+)|no opset import[^)]*)\) used by", message)
    scoped = [(name, domain) for name, domain, _ in ops if domain in OUT_OF_SCOPE_DOMAINS]
    if scoped:
        domain = scoped[0][1]
        return f"not in onnxrun's scope: {OUT_OF_SCOPE_DOMAINS[domain]} ({', '.join(name for name, _ in scoped)})"
    if any(name in STRING_OPS for name, _, _ in ops):
        return f"not in onnxrun's scope: string tensors ({', '.join(name for name, _, _ in ops)})"
    names = []
    for name, domain, opset in ops:
        prefix = "" if domain == "ai.onnx" else domain + "."
        if name in implemented and opset and int(opset) < implemented[name]:
            names.append(f"{prefix}{name}-{opset} (only opset {implemented[name]}+ is)")
        else:
            names.append(prefix + name)
    return "op not implemented: " + ", ".join(names)


def reason(error, implemented):
    if "operator is not supported" in error or "operators are not supported" in error:
        return op_reason(error, implemented)
    if match := re.search(r"has element type \d+ \((\w+)\), which onnxrun does not support", error):
        return f"type not supported: {match.group(1)}"
    if match := re.search(r"\((\w+), opset \d+\): unsupported: \w+ of type (\w+) is not supported", error):
        return f"type not supported: {match.group(2)} in {match.group(1)}"
    if "string tensor" in error:
        return "not in onnxrun's scope: string tensors"
    if match := re.search(r"\((\w+), opset \d+\): unsupported: training_mode", error):
        return f"not in onnxrun's scope: training mode ({match.group(1)})"
    if "only 1-D and 2-D convolution is implemented" in error:
        return "op not implemented: 3-D Conv"
    if "is not a tensor" in error:
        return "type not supported: sequence or optional graph input"
    return "wrong result: REVIEW " + error


def main():
    failures, operators = sys.argv[1], sys.argv[2]
    implemented = {}
    for line in open(operators):
        if match := re.match(r"(\w+)\t\S+\topsets (\d+)-", line):
            implemented[match.group(1)] = int(match.group(2))
    by_suite = defaultdict(list)
    for line in open(failures):
        if match := re.match(r"FAIL (\S+?)/(\S+): (.*)", line.rstrip("\n")):
            suite, name, error = match.groups()
            by_suite[suite].append((name, reason(error, implemented)))
    for suite in sorted(by_suite):
        print(f"\n# {suite}/")
        width = max(len(name) for name, _ in by_suite[suite])
        for name, why in sorted(by_suite[suite]):
            print(f"{name.ljust(width)}  {why}")


if __name__ == "__main__":
    main()
