# Empty dependencies file for pupa-guest-libc.
# This may be replaced when dependencies are built.
