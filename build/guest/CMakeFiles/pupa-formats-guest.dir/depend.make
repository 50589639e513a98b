# Empty dependencies file for pupa-formats-guest.
# This may be replaced when dependencies are built.
