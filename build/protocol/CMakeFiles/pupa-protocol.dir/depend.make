# Empty dependencies file for pupa-protocol.
# This may be replaced when dependencies are built.
