// Package bundle is a terminal's provisioning file and the identity it
// proves. Everything a station needs to reach its posserver (its
// certificate and key, the CA, the server address and its card master key)
// travels as one PEM Bundle, so provisioning a terminal is copying one file,
// and Parse refuses a bundle whose parts do not belong together before the
// app tries to connect with it.
//
// The identity a terminal proves is in its certificate's subject (CN
// terminal, O merchant, OU store); the server reads it back with IdentityOf
// after the TLS handshake, which replaces trusting a terminal id sent in a
// header.
//
// The station (posclient) loads bundles and the server (server/pki issues
// the certificates, posserver writes the files) makes them: the package
// belongs to neither side, so the station links nothing of the server.
package bundle
