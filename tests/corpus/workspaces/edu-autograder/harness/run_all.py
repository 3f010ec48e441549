"""Grade every submission of one assignment and write feedback files.

python harness/run_all.py --assignment hw3 --rubric rubric/hw3-auth.yaml [--sync] [--upload]
"""
import argparse
import os
import pathlib
import subprocess
import xml.etree.ElementTree as ET

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent


def canvas_headers():
    # The token comes from .env (git-ignored); never print or log it.
    return {"Authorization": f"Bearer {os.environ['CANVAS_TOKEN']}"}


def grade(sub_dir, rubric):
    xml = subprocess.run(["bash", ROOT / "harness/sandbox.sh", sub_dir,
                          ROOT / "tests" / rubric["assignment"]],
                         capture_output=True, text=True, check=True).stdout
    failed = {tc.get("name") for tc in ET.fromstring(xml).iter("testcase")
              if tc.find("failure") is not None or tc.find("error") is not None}
    score, notes = 0, []
    for item in rubric["auto"]:
        name = item["test"].split("::")[-1]
        if name in failed:
            notes.append(f"- **{item['id']}** (0/{item['points']}): {item['feedback_fail'].strip()}")
        else:
            score += item["points"]
            notes.append(f"- **{item['id']}** ({item['points']}/{item['points']}): passed")
    return score, notes


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--assignment", required=True)
    ap.add_argument("--rubric", required=True)
    args = ap.parse_args()
    rubric = yaml.safe_load(open(ROOT / args.rubric))
    for sub in sorted((ROOT / "submissions").iterdir()):
        if not sub.is_dir():
            continue
        score, notes = grade(sub, rubric)
        out = ROOT / "feedback" / f"{sub.name}-{args.assignment}.md"
        out.write_text(f"# {rubric['title']}: automatic part {score}/"
                       f"{sum(i['points'] for i in rubric['auto'])}\n\n" + "\n".join(notes) + "\n")


if __name__ == "__main__":
    main()
# notes: 0
