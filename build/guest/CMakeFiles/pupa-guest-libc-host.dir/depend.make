# Empty dependencies file for pupa-guest-libc-host.
# This may be replaced when dependencies are built.
