file(REMOVE_RECURSE
  "libpupa-guest-rt.a"
)
