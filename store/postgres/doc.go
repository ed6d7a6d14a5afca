// Package postgres opens the SQL store (package sqlstore) on PostgreSQL,
// through pgx: the store for many agent replicas sharing one database.
//
//	st, err := postgres.Open(ctx, "postgres://agent:pw@db:5432/vicgo?sslmode=verify-full")
//
// The connection pool defaults to 32 connections, all kept while idle
// (sqlstore.DefaultPool); WithMaxOpenConns, WithMaxIdleConns,
// WithConnMaxLifetime and WithConnMaxIdleTime change it.
//
// Importing this package links pgx and nothing of SQLite; store/sqlite is
// its counterpart for a single process.
package postgres
