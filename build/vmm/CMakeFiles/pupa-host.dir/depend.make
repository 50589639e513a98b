# Empty dependencies file for pupa-host.
# This may be replaced when dependencies are built.
