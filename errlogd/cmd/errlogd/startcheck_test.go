package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRetentionIntervalRefused: "-retention-interval 0" (or a negative
// one) is a value errlogd cannot use. docs/operations.md: such a value
// "stops it with one line naming the variable and what it accepts — a
// server does not run on a guess". errlogd instead started listening and
// then panicked in retain (time.NewTicker: non-positive interval), so a
// systemd unit with Restart=on-failure restarts it again and again.
func TestRetentionIntervalRefused(t *testing.T) {
	for _, v := range []string{"0", "-1s"} {
		db := filepath.Join(t.TempDir(), "e.db")
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		cmd := exec.CommandContext(ctx, errlogdBin, "-addr", "127.0.0.1:0", "-db", db, "-min-free-mb", "0", "-retention-interval", v)
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		cancel()
		code := -1
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err == nil {
			code = 0
		}
		errs := errb.String()
		assert.NotContains(t, errs, "panic:", "-retention-interval %s", v)
		assert.Equal(t, 2, code, "-retention-interval %s: %s", v, errs)
		assert.Contains(t, errs, "retention-interval", v)
		assert.Equal(t, 1, strings.Count(errs, "\n"), "one line: %s", errs)
		_, serr := os.Stat(db)
		assert.True(t, os.IsNotExist(serr), "refused before creating the store")
	}
}

// runFor runs the errlogd binary for at most d: stdout+stderr and the exit
// code, -1 when it was still running (then it is killed).
func runFor(t *testing.T, d time.Duration, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	cmd := exec.CommandContext(ctx, errlogdBin, args...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		return out.String(), -1
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return out.String(), ee.ExitCode()
	}
	return out.String(), 0
}

// TestBadRecipientsRefused: a recipient that is not a mail address, in
// -mail-to (ERRLOGD_MAIL_TO) or in a rule's mail action, is accepted at
// start, and every alert mailed to it then fails for good at its first
// try ("mail: recipient \"notanaddress\": missing '@'"): no alert reaches
// anyone. The sender (-mail-from) is checked at start; docs/operations.md:
// "A value errlogd cannot use stops it with one line naming the variable";
// docs/errlogd.md: in a rules file "bad values are refused, naming the rule
// and field".
func TestBadRecipientsRefused(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules.yaml")
	require.NoError(t, os.WriteFile(rules, []byte("rules:\n  - name: r\n    triggers: [{type: new}]\n    actions: [{type: mail, to: [notanaddress]}]\n"), 0o644))
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"mail-to", []string{"-mail-to", "ops@example.com,notanaddress"}, "notanaddress"},
		{"rule", []string{"-mail-to", "ops@example.com", "-rules", rules}, "notanaddress"},
	} {
		args := append([]string{"-addr", "127.0.0.1:0", "-db", filepath.Join(t.TempDir(), "e.db"), "-min-free-mb", "0", "-smtp-addr", "127.0.0.1:1"}, c.args...)
		out, code := runFor(t, 5*time.Second, args...)
		assert.Equal(t, 2, code, "%s: still running (-1) or exit code: %s", c.name, out)
		assert.Contains(t, out, c.want, c.name)
	}
}

// A project named by digits only ("3") would be project 3 to an alert
// rule's `project: "3"`, which takes an id or a name: one rule then
// mailed one team's errors to another. Refused on add and on rename.
func TestProjectNameOfDigitsRefused(t *testing.T) {
	db := filepath.Join(t.TempDir(), "e.db")
	createStore(t, db)
	out, err := exec.Command(errlogdBin, "project", "add", "3", "-db", db).CombinedOutput()
	require.Error(t, err, string(out))
	assert.Contains(t, string(out), "digits only")
	out, err = exec.Command(errlogdBin, "project", "add", "web3", "-db", db).CombinedOutput()
	require.NoError(t, err, string(out))
	out, err = exec.Command(errlogdBin, "project", "set", "1", "-name", "42", "-db", db).CombinedOutput()
	require.Error(t, err, string(out))
	assert.Contains(t, string(out), "digits only")
}
