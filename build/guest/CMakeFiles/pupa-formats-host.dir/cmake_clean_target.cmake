file(REMOVE_RECURSE
  "libpupa-formats-host.a"
)
