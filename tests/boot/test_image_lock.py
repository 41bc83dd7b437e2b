"""Two image builds of one recipe at once (two terminals, two test runs) take
turns: the second waits for the first and takes its image instead of deleting
the rootfs the first one is installing into."""

from __future__ import annotations

import json
import threading
import time

import stoker.boot.image as image_mod


def test_concurrent_builds_of_one_recipe_run_once(tmp_path, monkeypatch):
    running, builds, overlap = [], [], []

    class FakeBuilder:
        def __init__(self, recipe, work, mirror, progress):
            self.work, self.log_path = work, work / "build.log"

        def build(self):
            if running:
                overlap.append(True)
            running.append(1)
            builds.append(1)
            time.sleep(0.3)  # long enough for the other thread to arrive
            out = self.work / "out"
            out.mkdir(exist_ok=True)
            for name in ("vmlinuz", "initrd.img", "root.qcow2"):
                (out / name).write_bytes(b"x")
            (out / "manifest.json").write_text(json.dumps({"ignition_max_spec": "3.5.0"}))
            (self.work / "build.log").write_text("")
            running.pop()

    monkeypatch.setattr(image_mod, "_Builder", FakeBuilder)
    monkeypatch.setattr(image_mod.os, "geteuid", lambda: 0)
    results: list = []

    def build():
        results.append(image_mod.build_image(root=tmp_path, mirror="http://127.0.0.1:9/debian"))

    threads = [threading.Thread(target=build) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(results) == 2 and all(r.root.is_file() for r in results)
    assert builds == [1], "the second build must take the first one's image, not build again"
    assert not overlap
