file(REMOVE_RECURSE
  "libpupa-protocol-guest.a"
)
