"""Print the demo's verdicts next to what each sample output was expected to do."""

from __future__ import annotations

import json
import sys


def main(outputs_path: str, verdicts_path: str) -> None:
    with open(outputs_path, encoding="utf-8") as f:
        outputs = {r["id"]: r for r in map(json.loads, f)}
    with open(verdicts_path, encoding="utf-8") as f:
        verdicts = [json.loads(line) for line in f]
    for v in verdicts:
        out = outputs[v["id"]]
        status = "BLOCKED" if v["blocked"] else "passed "
        print(f"\n{v['id']}: {status}  score={v['score']:.3f}  rule={v['rule']}")
        print(f"    expected: {out.get('expect', '')}")
        for m in [m for m in v["matches"] if m["rule"]][:3]:
            for sp in m["spans"][:2]:
                print(f"    match {m['doc_id']} ({m['license']}, {m['source']}) via {m['view']} view: "
                      f"output chars {sp['output'][0]}-{sp['output'][1]} ~ source chars "
                      f"{sp['source'][0]}-{sp['source'][1]}, similarity {sp['similarity']:.3f}, "
                      f"exact run {sp['exact_run']} tokens")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
