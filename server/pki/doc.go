// Package pki is posserver's own certificate authority. Terminals and the
// server authenticate each other with mutual TLS, and nobody outside the
// merchant should be able to mint a terminal identity, so posserver signs
// terminal certificates itself instead of relying on a public CA: a public
// CA cannot vouch for "terminal T1 of store S1", and trusting one would let
// anyone with a certificate from it reach the payment API.
//
// An Authority is kept in one directory: the CA (ca.crt, ca.key), the
// server certificate terminals check (server.crt, server.key) and the
// key-encryption key (kek) that seals terminal master keys before they are
// stored in the database, so a copy of the database alone does not reveal
// them. The identity a terminal proves is in its certificate's subject
// (CN terminal, O merchant, OU store) and is read back with IdentityOf after
// the handshake, which replaces trusting a terminal id sent in a header.
//
// Everything a terminal needs to reach its server (its certificate and key,
// the CA, the server address and its card master key) travels as one Bundle
// file, so provisioning a terminal is copying one file, and ParseBundle
// refuses a bundle whose parts do not belong together before the app tries
// to connect with it.
package pki
