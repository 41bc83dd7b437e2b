"""Random configs of specs 3.0.0-3.3.0 that hit many Ignition rules at once.

Used for differential tests against the real ignition-validate: values are drawn
from small pools of valid and invalid choices so that interactions (duplicates,
node conflicts, partition overlaps, ...) come up often. Sections a spec lacks
(proxy before 3.1.0, luks before 3.2.0, kernelArguments before 3.3.0) are drawn
and then dropped, so that a seed gives the same 3.3.0 configs as before; fields
that moved between versions (compression on merge entries in 3.0.0, ...) stay,
and ignition-validate reports them as unused keys.

`mutate()` and `add_unknown_keys()` make documents with Go type errors and
unknown keys out of a config, for comparing whole-document validation.
"""

import copy
import random

from stoker.ignition.versions import has


class RandomConfigs:
    PATHS = ["/a", "/a/b", "/etc/x", "rel", "/etc/../x", "/d/", "", "/l", "/l/x"]
    SOURCES = ["data:,x", "http://x", "https://x/y", "ftp://x", "s3://b/k", "tftp://h/x", "", "data:bad", "gs://b/o"]
    WRONG_TYPES = [0, 1.5, "x", True, [], {}, [1], {"a": 1}]

    def __init__(self, seed: int, version: str = "3.3.0") -> None:
        self.rng = random.Random(seed)
        self.version = version

    def maybe(self, p=0.5):
        return self.rng.random() < p

    def pick(self, *choices):
        return self.rng.choice(choices)

    def some(self, make, low=1, high=2):
        return [make() for _ in range(self.rng.randint(low, high))]

    @staticmethod
    def without_none(mapping):
        return {k: v for k, v in mapping.items() if v is not None}

    def resource(self):
        r = {}
        if self.maybe():
            r["source"] = self.pick(*self.SOURCES)
        if self.maybe(0.3):
            r["compression"] = self.pick("", "gzip", "xz")
        if self.maybe(0.3):
            r["verification"] = {"hash": self.pick("sha512-" + "a" * 128, "sha256-" + "b" * 64, "sha512-a",
                                                   "md5-x", "nodash")}
        if self.maybe(0.2):
            r["httpHeaders"] = self.some(lambda: self.without_none(
                {"name": self.pick("a", "", "b"), "value": self.pick(None, "v", "")}))
        return r

    def owner(self):
        return self.without_none({"id": self.pick(None, None, 0, 1), "name": self.pick(None, None, "", "root")})

    def node(self):
        return self.without_none({"path": self.pick(*self.PATHS),
                                  "user": self.owner() if self.maybe(0.2) else None,
                                  "group": self.owner() if self.maybe(0.2) else None,
                                  "overwrite": self.pick(True, False) if self.maybe(0.2) else None})

    def partition(self):
        return self.without_none({
            "number": self.pick(0, 1, 2, 3), "label": self.pick(None, "a", "b", "x" * 37),
            "sizeMiB": self.pick(None, 0, 10, 100), "startMiB": self.pick(None, 0, 5, 20),
            "shouldExist": self.pick(None, True, False),
            "guid": self.pick(None, "bad", "01234567-89AB-CDEF-EDCB-A98765432101"),
            "typeGuid": self.pick(None, "", "zz")})

    def luks(self):
        clevis = {"tpm2": self.pick(True, False), "threshold": self.pick(0, 1, 2),
                  "tang": [self.without_none({"url": self.pick("http://t", "", "ftp://t"),
                                              "thumbprint": self.pick(None, "", "t")})],
                  "custom": self.without_none({"pin": self.pick(None, "", "tpm2", "foo"),
                                               "config": self.pick(None, "", "{}"),
                                               "needsNetwork": self.pick(None, True, False)})}
        return self.without_none({
            "name": self.pick("a", "b/c", ""), "device": self.pick(None, "", "/dev/x", "rel"),
            "label": self.pick(None, "x" * 48, "ok"), "keyFile": self.pick(None, self.resource()),
            "clevis": self.pick(None, clevis)})

    def config(self):
        c = self.draw()
        if not has(self.version, "proxy"):
            c["ignition"].pop("proxy", None)
        if not has(self.version, "luks"):
            c.get("storage", {}).pop("luks", None)
        if not has(self.version, "kernelArguments"):
            c.pop("kernelArguments", None)
        return c

    def draw(self):
        c = {"ignition": {"version": self.version}}
        if self.maybe(0.3):
            c["ignition"]["config"] = {"merge": self.some(self.resource, 0, 2)}
            if self.maybe():
                c["ignition"]["config"]["replace"] = self.resource()
        if self.maybe(0.2):
            c["ignition"]["proxy"] = {"httpProxy": self.pick("http://p", "ftp://p", "https://p"),
                                      "httpsProxy": self.pick("http://p", "https://p", ":x")}
        if self.maybe(0.2):
            c["ignition"]["security"] = {"tls": {"certificateAuthorities": self.some(self.resource)}}
        storage = {}
        if self.maybe(0.6):
            storage["files"] = self.some(lambda: self.without_none({
                **self.node(), "contents": self.resource() if self.maybe() else None,
                "append": [self.resource()] if self.maybe(0.2) else None,
                "mode": self.pick(420, 0o4755, 99999, -1, 0o1644) if self.maybe(0.3) else None}), 1, 3)
        if self.maybe(0.4):
            storage["directories"] = self.some(lambda: self.without_none({
                **self.node(), "mode": self.pick(493, 0o2755, 99999) if self.maybe(0.3) else None}))
        if self.maybe(0.4):
            storage["links"] = self.some(lambda: self.without_none({
                **self.node(), "target": self.pick("/a", "rel", "", "/d", "/a/../b") if self.maybe(0.8) else None,
                "hard": self.pick(True, False) if self.maybe(0.4) else None}))
        if self.maybe(0.4):
            storage["disks"] = self.some(lambda: self.without_none({
                "device": self.pick("/dev/vda", "", "rel", "/dev/vdb"),
                "wipeTable": self.pick(None, True, False),
                "partitions": self.some(self.partition, 0, 3)}))
        if self.maybe(0.4):
            storage["filesystems"] = self.some(lambda: self.without_none({
                "device": self.pick("/dev/vda", "", "rel", "/dev/vdc"),
                "format": self.pick(None, "", "ext4", "xfs", "vfat", "swap", "btrfs", "none", "ntfs"),
                "label": self.pick(None, "", "short", "x" * 13, "x" * 17),
                "path": self.pick(None, "", "/var", "rel"), "wipeFilesystem": self.pick(None, True, False),
                "options": self.pick(None, [], ["-a"])}))
        if self.maybe(0.3):
            storage["luks"] = self.some(self.luks)
        if self.maybe(0.3):
            storage["raid"] = self.some(lambda: self.without_none({
                "name": self.pick("md", "x"), "level": self.pick(None, "", "raid1", "raid0", "linear", "raid7", "10"),
                "devices": self.pick(None, [], ["/a"], ["/a", "/a"], ["rel"]), "spares": self.pick(None, 0, 1)}))
        if storage:
            c["storage"] = storage
        if self.maybe(0.4):
            c["systemd"] = {"units": self.some(lambda: self.without_none({
                "name": self.pick("u.service", "bad.ext", "", "x.timer"), "enabled": self.pick(None, True, False),
                "contents": self.pick(None, "", "[Unit]\n", "[Install]\nWantedBy=x\n", "[Bad", "[S]\nx\n"),
                "dropins": self.pick(None, [{"name": self.pick("a.conf", "b", "")} for _ in range(2)])}))}
        if self.maybe(0.2):
            c["passwd"] = {"users": [{"name": self.pick("a", "b"), "sshAuthorizedKeys": self.pick(["k"], ["k", "k"])}
                                     for _ in range(2)]}
        if self.maybe(0.2):
            c["kernelArguments"] = {"shouldExist": self.pick(["a"], ["a", "a"]),
                                    "shouldNotExist": self.pick(["a"], ["b"])}
        return c

    # -- documents for whole-document validation --
    def add_unknown_keys(self, config, count=2):
        """A copy of `config` with keys no spec has added to some of its objects."""
        config = copy.deepcopy(config)
        objects = [o for o in _objects(config)]
        for n in range(count):
            self.rng.choice(objects)[f"bogus{n}"] = self.pick(1, "x", None, {"a": 1})
        return config

    def mutate(self, config):
        """A copy of `config` with one value that is not an object replaced by one of another JSON type."""
        config = copy.deepcopy(config)
        parent, key = self.rng.choice([(o, k) for o in _objects(config) for k in o if k != "version"]
                                      or [(config, "storage")])
        old = parent.get(key)
        parent[key] = self.rng.choice([w for w in self.WRONG_TYPES if type(w) is not type(old)])
        return config


def _objects(value):
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
