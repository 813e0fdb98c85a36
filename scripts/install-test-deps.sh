#!/usr/bin/env bash
# Installs what the test suites need that a fresh machine lacks. Idempotent.
# Today: nothing beyond the .NET SDK (NuGet packages restore during the build). The browser and
# Docker suites add chromium and docker.io here when they land.
set -euo pipefail
command -v dotnet >/dev/null || { echo "the .NET 10 SDK is required (dotnet not on PATH)"; exit 1; }
dotnet --version >/dev/null
