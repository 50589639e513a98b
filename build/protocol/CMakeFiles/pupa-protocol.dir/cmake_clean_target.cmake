file(REMOVE_RECURSE
  "libpupa-protocol.a"
)
