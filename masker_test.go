package errlog_test

import (
	"testing"

	"github.com/errlog/errlog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMasker: a Masker masks keys, headers and text as a Handler of the
// same options does.
func TestMasker(t *testing.T) {
	m, err := errlog.NewMasker(errlog.MaskOptions{})
	require.NoError(t, err)
	assert.Equal(t, errlog.DefaultMaskWith, m.With())
	for k, want := range map[string]bool{"db_password": true, "apiKey": true, "X-Auth": true, "author": false, "passenger": false, "session_count": false} {
		assert.Equal(t, want, m.Key(k), k)
	}
	assert.True(t, m.Header("X-Session-Id"))
	assert.True(t, m.Header("Cookie"))
	assert.False(t, m.Header("Accept"))
	assert.Equal(t, "login failed password="+errlog.DefaultMaskWith+" for ann", m.Text("login failed password=hunter2 for ann"))
	s := "nothing to hide"
	assert.Equal(t, s, m.Text(s))

	m, err = errlog.NewMasker(errlog.MaskOptions{Keys: []string{"ssn"}, With: "[Filtered]"})
	require.NoError(t, err)
	assert.True(t, m.Key("user_ssn"))
	assert.False(t, m.Key("password"), "Keys replace the defaults, as MaskOptions says")
	assert.Equal(t, "ssn: [Filtered]", m.Text("ssn: 078-05-1120"))

	m, err = errlog.NewMasker(errlog.MaskOptions{Headers: []string{"/[/"}})
	assert.Error(t, err, "a bad filter is reported")
	require.NotNil(t, m)
	assert.True(t, m.Header("Authorization"), "and the category's defaults still apply")
}
