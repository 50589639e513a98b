# Empty dependencies file for pupa-protocol-guest.
# This may be replaced when dependencies are built.
