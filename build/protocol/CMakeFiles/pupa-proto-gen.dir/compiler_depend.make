# Empty custom commands generated dependencies file for pupa-proto-gen.
# This may be replaced when dependencies are built.
