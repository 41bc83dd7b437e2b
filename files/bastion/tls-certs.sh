#!/bin/bash
# Give nginx a certificate for every site it serves: run before nginx at every
# boot (tls-certs.service) and after every renewal (letsencrypt.service).
#
# nginx reads /etc/letsencrypt/current/SITE/{fullchain,privkey}.pem, on the
# bastion-data volume. For each SITE its config names there, current/SITE is a
# relative link to:
#   ../live/SITE        Let's Encrypt's certificate, once certbot has one;
#   ../selfsigned/SITE  otherwise, a self-signed certificate valid 30 days, made
#                       here when missing or expiring within a day, so that a
#                       brand-new or rebuilt bastion serves (and answers
#                       Let's Encrypt's HTTP-01 challenges) at once.
# Certbot's own directories (live/, archive/, renewal/) are never written here.
set -euo pipefail
umask 077

# Arguments (for tests): the letsencrypt directory and nginx's conf.d.
base=${1:-/var/mnt/bastion-data/letsencrypt}
conf=${2:-/etc/stoker/nginx/conf.d}

sites=$(sed -n 's#^[[:space:]]*ssl_certificate[[:space:]]\{1,\}/etc/letsencrypt/current/\([^/;]*\)/fullchain\.pem;.*#\1#p' \
        "$conf"/*.conf | sort -u)
mkdir -p "$base/current" "$base/selfsigned"
for site in $sites; do
    case "$site" in
        .*|*[!A-Za-z0-9.-]*) echo "$site: not a host name, skipped" >&2; continue ;;
    esac
    if [ -s "$base/live/$site/fullchain.pem" ] && [ -s "$base/live/$site/privkey.pem" ]; then
        target="../live/$site"
    else
        target="../selfsigned/$site"
        dir="$base/selfsigned/$site"
        if ! openssl x509 -checkend 86400 -noout -in "$dir/fullchain.pem" >/dev/null 2>&1; then
            mkdir -p "$dir"
            openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=$site" \
                -addext "subjectAltName=DNS:$site" \
                -keyout "$dir/privkey.pem.new" -out "$dir/fullchain.pem.new" 2>/dev/null
            mv -f "$dir/privkey.pem.new" "$dir/privkey.pem"
            mv -f "$dir/fullchain.pem.new" "$dir/fullchain.pem"
            echo "$site: made a self-signed certificate, valid 30 days, until Let's Encrypt's is there"
        fi
    fi
    if [ "$(readlink "$base/current/$site" || true)" != "$target" ]; then
        ln -sfn "$target" "$base/current/.$site.new"
        mv -fT "$base/current/.$site.new" "$base/current/$site"
        echo "$site: nginx uses $target"
    fi
done
