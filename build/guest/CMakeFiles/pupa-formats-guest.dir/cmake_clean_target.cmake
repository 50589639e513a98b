file(REMOVE_RECURSE
  "libpupa-formats-guest.a"
)
