// Package demo assembles training mode in one process: posserver on a random
// loopback port with a fresh SQLite file under the user's state directory,
// the Alipay, WeChat Pay and bank stand-ins behind the server's connector
// interface, a simulated card reader and a simulated printer that saves each
// receipt as a text file. Env also plays the customer for the trainer keys.
// `pos --demo` runs on it, and so do the cashier app's end-to-end tests.
package demo
