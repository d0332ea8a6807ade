// Package watch reports changes to the manifests directory. It watches the
// directory and every non-hidden directory below it with fsnotify (adding
// new directories as they appear and rebuilding the watch set after a
// directory is renamed or removed), debounces the events into bursts that
// settle after a quiet period or a maximum delay, re-hashes the files a burst
// touched, and sends one Change naming only the files whose content really
// changed: an editor's rename-on-save, a `git checkout` that rewrites a
// hundred files, and a Kubernetes ConfigMap ..data swap are each one Change,
// and a touch that changes nothing is none. When the events cannot say which
// files changed (queue overflow, a directory rename, the ..data swap) the
// Change is Full and the caller reloads everything. Changes wait merged
// while the receiver is busy, so a slow receiver gets one Change, never a
// backlog. Revision stamps events with the git commit of the directory.
package watch
