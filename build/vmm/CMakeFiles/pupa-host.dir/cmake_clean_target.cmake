file(REMOVE_RECURSE
  "libpupa-host.a"
)
