#!/bin/sh
# Runs once, when the PostgreSQL volume is created: Oferta's own database and role.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres <<SQL
CREATE ROLE oferta LOGIN PASSWORD '${OFERTA_DB_PASSWORD}';
CREATE DATABASE oferta OWNER oferta;
SQL
