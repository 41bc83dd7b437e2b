"""stoker: a Fedora CoreOS fleet as code."""

__version__ = "0.1.0"
