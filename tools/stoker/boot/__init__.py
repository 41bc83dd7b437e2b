"""Boot test: build or fetch a CoreOS-like image, boot an Ignition config in QEMU, check the guest.

Public entry points:
- `image.build_image` / `image.cached_image`: the offline test image (Debian trixie + real Ignition)
- `fetch.fetch_fcos`: a verified Fedora CoreOS QEMU image
- `qemu.qemu_argv`: the QEMU command line, a pure function of a `QemuSpec`
- `session.boot_test`: boot one config and run the guest checks
"""
