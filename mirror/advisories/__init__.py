"""Known vulnerabilities: the OSV export, its matcher, the build-time audit and severities."""
