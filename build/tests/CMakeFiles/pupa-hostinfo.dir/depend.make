# Empty dependencies file for pupa-hostinfo.
# This may be replaced when dependencies are built.
