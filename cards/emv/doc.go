// Package emv reads an EMV chip card (contact or contactless) far enough to
// start a sale: it finds the payment application, runs GET PROCESSING
// OPTIONS, reads the records named by the AFL and returns the PAN, expiry,
// cardholder name, track 2 equivalent data and the ICC data for ISO 8583
// field 55.
//
// The package knows nothing about PC/SC, vpcd or a reader driver: the card is
// the Card interface, a function from C-APDU to R-APDU. That keeps the EMV
// logic testable with scripted fake cards and lets the reader transport
// (ebfe/scard, a virtual card, a test double) live elsewhere.
//
// The flow follows EMV Book 1 (application selection) and Book 3 (GPO, READ
// RECORD): PPSE "2PAY.SYS.DDF01" first, then the contact PSE
// "1PAY.SYS.DDF01" with its directory records, and finally a list of known
// AIDs (UnionPay, Visa, Mastercard). Card responses on T=0 (61xx, 6Cxx) are
// handled transparently by Transceive.
//
// Not done here: offline data authentication, processing restrictions,
// cardholder verification, terminal risk management and GENERATE AC. The
// ICC blob therefore carries 9F26/9F27/9F10/9F36 only when the card returned
// them already (e.g. a qPBOC/contactless GPO response).
//
// Card data is sensitive: Result and Track2 print and log themselves masked,
// and no error message in this package contains a PAN or track data.
package emv
