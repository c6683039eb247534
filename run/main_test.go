package run_test

import (
	"testing"

	"github.com/understudy-dev/understudy/internal/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }
