package chirp_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/understudy-dev/understudy/examples/chirp"
	"github.com/understudy-dev/understudy/providers"
)

// chirp's Go API is a contract other packages code against
// (examples/chirp/README.md): these declarations stop compiling if a
// signature drifts from it.
var (
	_ func(context.Context, *pgxpool.Pool) error = chirp.Migrate
	_ func(chirp.Config) (*chirp.App, error)     = chirp.New
	_ func(*chirp.App) http.Handler              = (*chirp.App).Handler
	_ func(*chirp.App, bool)                     = (*chirp.App).SetDown
	_ func(*chirp.App, time.Duration)            = (*chirp.App).SetDelay

	_ func(*chirp.App, context.Context, chirp.NewUser) (chirp.User, error)            = (*chirp.App).CreateUser
	_ func(*chirp.App, context.Context, int64, string) (int64, error)                 = (*chirp.App).Post
	_ func(*chirp.App, context.Context, int64, int64) error                           = (*chirp.App).Follow
	_ func(*chirp.App, context.Context, int64, int64) error                           = (*chirp.App).Like
	_ func(*chirp.App, context.Context, int64, int64) error                           = (*chirp.App).AddPoints
	_ func(*chirp.App, context.Context, int64, string, int) error                     = (*chirp.App).AddToCart
	_ func(*chirp.App, context.Context, int64, int) ([]chirp.Entry, error)            = (*chirp.App).Leaderboard
	_ func(*chirp.App, context.Context, int64, int) ([]chirp.FeedPost, error)         = (*chirp.App).Feed
	_ func(*chirp.App, context.Context, providers.Account) (string, error)            = (*chirp.App).ProvisionUser
	_ func(*chirp.App, context.Context, providers.Target) error                       = (*chirp.App).VerifyUser
	_ func(*chirp.App, context.Context, providers.Target) (json.RawMessage, error)    = (*chirp.App).SnapshotUser
	_ func(*chirp.App, context.Context, providers.Target, json.RawMessage) error      = (*chirp.App).RestoreUser
	_ func(*chirp.App, context.Context, providers.Target) error                       = (*chirp.App).DeprovisionUser
	_ func(*chirp.App, context.Context, providers.Account) (chirp.Provisioned, error) = (*chirp.App).Provision
	_ func(*chirp.App, context.Context, int64) (string, error)                        = (*chirp.App).EnrollTOTP
	_ func(*chirp.App, context.Context, int64) (string, error)                        = (*chirp.App).TOTPURI

	_ = chirp.Config{DB: (*pgxpool.Pool)(nil), WebhookSecret: []byte(nil), Logger: (*slog.Logger)(nil),
		SMTPAddr: "", MailFrom: "", MailTimeout: time.Duration(0), SignInCode: (*bool)(nil), BaseURL: ""}
	_ = chirp.User{ID: int64(0), Username: "", Email: "", DisplayName: "", IsSynthetic: false,
		UnderstudyAccountID: "", CreatedAt: time.Time{}}
	_ = chirp.NewUser{Username: "", Email: "", DisplayName: "", IsSynthetic: false}
)
