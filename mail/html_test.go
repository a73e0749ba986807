package mail

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestMailText(t *testing.T) {
	assert.Equal(t, "a &lt;b&gt; &amp; c<br>\nd", string(mailText("a <b> & c\nd")))
	long := strings.Repeat("x", 100)
	got := string(mailText("see " + long + " end"))
	assert.Equal(t, "see "+strings.Repeat("x", 40)+"<wbr>"+strings.Repeat("x", 40)+"<wbr>"+strings.Repeat("x", 20)+" end", got)
	assert.Equal(t, "ééé", string(mailText("ééé")), "runes are never split")
	assert.Equal(t, strings.Repeat("é", 40)+"<wbr>é", string(mailText(strings.Repeat("é", 41))))
}
