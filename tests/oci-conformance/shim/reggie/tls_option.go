// Wharf adapter, not part of reggie.
//
// The suite's setup.go (v1.1 line) passes reggie.WithInsecureSkipTLSVerify,
// which the reggie sources available here (the v0.5 line) do not have. Wharf's
// run is plain HTTP on 127.0.0.1, so the option only has to exist: it changes
// nothing (the client keeps verifying certificates, should https ever be used).
package reggie

// WithInsecureSkipTLSVerify is accepted and ignored (plain HTTP only).
func WithInsecureSkipTLSVerify(skip bool) clientOption {
	return func(c *clientConfig) {}
}
