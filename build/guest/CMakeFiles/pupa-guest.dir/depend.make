# Empty dependencies file for pupa-guest.
# This may be replaced when dependencies are built.
