// Package i18n names the languages multipos speaks: Simplified Chinese and
// English. Each user-facing package keeps its own message table keyed by Lang.
package i18n
