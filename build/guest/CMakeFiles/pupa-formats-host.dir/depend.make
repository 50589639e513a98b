# Empty dependencies file for pupa-formats-host.
# This may be replaced when dependencies are built.
