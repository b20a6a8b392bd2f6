//! The HTTP/1.1 and HTTP/3 front doors: binding, auth, limits. Not built yet.
