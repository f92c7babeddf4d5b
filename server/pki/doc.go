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
// them. The folder is 0700 and its private files 0600; Open tightens ones
// left open to others.
//
// The private files (ca.key, kek, server.key) may be sealed under a key
// kept outside the folder (SealKey: a file on another mount, an
// environment variable, a systemd credential), so that a copy of the
// folder, or a backup holding it beside the database, gives away nothing:
// AES-256-GCM under a key derived with HKDF-SHA256 from the seal key and a
// salt of the file's own, in a PEM block "MULTIPOS SEALED FILE" whose
// headers give the format version and the id of the seal key it needs.
// OpenSealed writes new files sealed and refuses a folder that is not
// sealed under the key it is given (or sealed when it is given none);
// Reseal seals, unseals or moves an existing folder to a new key. Demo
// mode's NewMemory authority never touches the disk and needs none of it.
//
// The identity a terminal proves (its certificate's subject) and the Bundle
// file that carries a terminal's certificate, key, CA, server address and
// card master key are in package bundle, which the station uses too;
// IssueTerminal makes the certificate a bundle carries.
package pki
