"""The offline test image as data: suite, packages and every file the builder writes.

The cache key is a hash of this data, so any change here (a package, a patch)
gives a new image directory and an old image is never reused by mistake.
Each patch says why it exists; see docs in ../shared/boot/offline-image.md.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field

# Bump when the builder's steps change in a way the data below does not show.
BUILDER_VERSION = 2


@dataclass(frozen=True)
class File:
    path: str
    content: str
    mode: int = 0o644


@dataclass(frozen=True)
class Symlink:
    path: str
    target: str


@dataclass(frozen=True)
class Recipe:
    suite: str
    packages: tuple[str, ...]
    files: tuple[File, ...]
    symlinks: tuple[Symlink, ...]
    remove: tuple[str, ...]  # globs, relative to the root, removed after installing
    disk_size: str = "3G"
    ignition_max_spec: str = "3.3.0"  # Debian's Ignition 2.14.0 reads 3.0.0–3.3.0
    builder_version: int = BUILDER_VERSION
    extra: dict = field(default_factory=dict)

    def key(self) -> str:
        blob = json.dumps(asdict(self), sort_keys=True, default=list).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


PACKAGES = (
    # init, kernel, initramfs with the real Ignition and its dracut module
    "systemd", "systemd-sysv", "udev", "dbus", "linux-image-amd64", "dracut", "dracut-network", "ignition",
    # Podman 5 with Quadlet; netavark needs nft for bridge networks
    "podman", "catatonit", "netavark", "aardvark-dns", "conmon", "crun", "nftables", "uidmap",
    # what the checks and the fleet's configs use
    "openssh-server", "sudo", "curl", "kmod", "iproute2", "e2fsprogs", "gdisk", "passwd", "ca-certificates",
    "procps", "zstd", "cpio",
    # resolves the hostname Ignition sets without touching /etc/hosts, as on Fedora CoreOS
    "libnss-myhostname",
)

DRACUT_CONF = """\
hostonly="no"
add_dracutmodules+=" ignition ignition-debian-fixups qemu "
omit_dracutmodules+=" plymouth lvm mdraid dmraid crypt iscsi nfs nbd fcoe fcoe-uefi multipath btrfs biosdevname network-manager connman memstrack rngd cifs nvmf dasd resume i18n "
drivers=" virtio_blk virtio_pci virtio_net virtio_scsi virtio_rng virtio_console qemu_fw_cfg ext4 sd_mod ata_piix ahci "
compress="zstd"
"""

# Debian's ignition calls setfiles for the SELinux relabel it always does; a no-op in the initramfs only.
FIXUPS_MODULE = """\
#!/bin/bash
# stoker: lets Debian's ignition dracut module run on a system without SELinux
check() { return 255; }
depends() { echo ignition; }
install() {
    inst_script "$moddir/setfiles-stub.sh" /usr/sbin/setfiles
}
"""

SETFILES_STUB = """\
#!/bin/sh
# no-op setfiles: this image does not use SELinux, Ignition's relabel step is skipped
cat >/dev/null
echo "setfiles stub: SELinux not used, skipping relabel ($*)" >&2
exit 0
"""

SELINUX_SHIM = """\
#!/bin/sh
# stoker offline test image: SELinux is not available; {tool} does nothing
echo "stoker offline image: SELinux not available, {tool} $* ignored" >&2
exit 0
"""

FILES = (
    File("/etc/hostname", "stoker-test\n"),
    File("/etc/hosts", "127.0.0.1 localhost\n127.0.1.1 stoker-test\n"),
    File("/etc/fstab", "LABEL=root / ext4 defaults 0 1\n"),
    File("/etc/locale.conf", "LANG=C.UTF-8\n"),
    # core gets passwordless sudo from the image, as on Fedora CoreOS (where the image puts core in
    # group wheel): the harness adds nothing to the config's users but its SSH key
    File("/etc/sudoers.d/90-core-nopasswd", "core ALL=(ALL) NOPASSWD: ALL\n", 0o440),
    File("/etc/systemd/network/20-wired.network", "[Match]\nName=en* eth*\n\n[Network]\nDHCP=yes\n"),
    # patch 6: Ignition writes keys where Fedora CoreOS's sshd reads them
    File("/etc/ssh/sshd_config.d/40-ignition.conf",
         "AuthorizedKeysFile .ssh/authorized_keys .ssh/authorized_keys.d/ignition\n"),
    # patch 7: one host key, ed25519. Debian's `ssh-keygen -A` also makes RSA 3072 and ECDSA keys, whose
    # prime search took 2 to 5 minutes of each TCG boot before sshd could start (console: "Job
    # sshd-keygen.service/start running (5min 15s / no limit)" with four VMs on two cores).
    File("/etc/systemd/system/sshd-keygen.service.d/50-stoker-ed25519.conf",
         "[Service]\nExecStart=\nExecStart=ssh-keygen -q -t ed25519 -N \"\" -f /etc/ssh/ssh_host_ed25519_key\n"),
    File("/etc/ssh/sshd_config.d/10-stoker-hostkey.conf", "HostKey /etc/ssh/ssh_host_ed25519_key\n"),
    File("/etc/dracut.conf.d/50-stoker.conf", DRACUT_CONF),
    # patch 1: Debian's Ignition always relabels and fails without this file
    File("/etc/selinux/config", "# SELinux is not used; Ignition reads this file\nSELINUX=disabled\nSELINUXTYPE=default\n"),
    # patch 2: no-op setfiles in the initramfs
    File("/usr/lib/dracut/modules.d/31ignition-debian-fixups/module-setup.sh", FIXUPS_MODULE, 0o755),
    File("/usr/lib/dracut/modules.d/31ignition-debian-fixups/setfiles-stub.sh", SETFILES_STUB, 0o755),
    # patch 3: "uninitialized" makes systemd treat the boot as first boot and apply presets (enabled: true)
    File("/etc/machine-id", "uninitialized\n", 0o444),
    # patch 4: CoreOS-style preset policy
    File("/usr/lib/systemd/system-preset/80-stoker.preset",
         "enable ssh.service\nenable systemd-networkd.service\nenable systemd-networkd.socket\n"
         "enable getty@.service\n"),
    File("/usr/lib/systemd/system-preset/99-default.preset", "disable *\n"),
    # Fedora CoreOS configs call these; this kernel runs without SELinux. The boot test reports
    # every config that asks for SELinux as not exercised offline (see ignition.selinux_notes).
    File("/usr/sbin/setenforce", SELINUX_SHIM.format(tool="setenforce"), 0o755),
    File("/usr/sbin/getenforce", "#!/bin/sh\necho Disabled\n", 0o755),
)

SYMLINKS = (
    # patch 5: systemd-firstboot would wait on the console for input
    Symlink("/etc/systemd/system/systemd-firstboot.service", "/dev/null"),
    # it fails the boot's generator run when QEMU has no vsock device ("Failed to query local AF_VSOCK CID")
    Symlink("/etc/systemd/system-generators/systemd-ssh-generator", "/dev/null"),
    Symlink("/etc/systemd/system/multi-user.target.wants/systemd-networkd.service",
            "/usr/lib/systemd/system/systemd-networkd.service"),
)

# Units Debian's package scripts enable, which a CoreOS host would not run; fresh host keys per VM.
REMOVE = (
    "etc/systemd/system/timers.target.wants/*",
    "etc/systemd/system/sockets.target.wants/netavark-dhcp-proxy.socket",
    "etc/systemd/system/multi-user.target.wants/e2scrub_reap.service",  # 47 s of a TCG boot
    "etc/systemd/system/default.target.wants/netavark-dhcp-proxy.service",
    "etc/ssh/ssh_host_*_key",
    "etc/ssh/ssh_host_*_key.pub",
    "var/lib/dbus/machine-id",
)



def offline_recipe() -> Recipe:
    return Recipe(suite="trixie", packages=PACKAGES, files=FILES, symlinks=SYMLINKS, remove=REMOVE)
