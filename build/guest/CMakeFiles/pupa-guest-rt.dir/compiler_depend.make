# Empty compiler generated dependencies file for pupa-guest-rt.
# This may be replaced when dependencies are built.
