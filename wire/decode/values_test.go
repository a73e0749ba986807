package decode

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestValues(t *testing.T) {
	type ex struct {
		Type  string `json:"type"`
		Value string `json:"value"`
	}
	for _, raw := range []string{`[{"type":"A","value":"a"}]`, `{"values":[{"type":"A","value":"a"}]}`, ` [{"type":"A","value":"a"}] `} {
		got, err := Values[ex](json.RawMessage(raw))
		require.NoError(t, err, raw)
		assert.Equal(t, []ex{{"A", "a"}}, got, raw)
	}
	for _, raw := range []string{``, `null`} {
		got, err := Values[ex](json.RawMessage(raw))
		assert.NoError(t, err)
		assert.Nil(t, got)
	}
	got, err := Values[ex](json.RawMessage(`[{"type":"A","value":7},{"type":"B","value":"b"}]`))
	assert.Error(t, err, "a value of the wrong type")
	assert.Equal(t, []ex{{"A", ""}, {"B", "b"}}, got, "what decodes is kept")
	_, err = Values[ex](json.RawMessage(`{"values":`))
	assert.Error(t, err)
}
