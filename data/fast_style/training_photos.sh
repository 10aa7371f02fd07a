#!/usr/bin/env bash
# The 73 photos and wallpapers of the retraining in README.md (not shipped; the shipped
# networks trained on the first package's 12 alone): a folder of links to the photos of five
# Debian packages, none of them in data/, so the notebook and the tests stylise unseen photos.
#   sudo apt-get install mate-backgrounds plasma-workspace-wallpapers ukui-wallpapers \
#        lomiri-wallpapers-16.04 lomiri-wallpapers-20.04
#   data/fast_style/training_photos.sh FOLDER
set -euo pipefail
out=${1:?give the folder to fill}
mkdir -p "$out"
for f in /usr/share/backgrounds/mate/nature/*.jpg; do ln -sf "$f" "$out/mate_$(basename "$f")"; done
# Plasma ships each wallpaper at several sizes: one per wallpaper, 1920x1080 or 2560x1440 where
# there is one, else the smallest file.
for d in /usr/share/wallpapers/*/; do
  images="$d/contents/images"
  [ -d "$images" ] || continue
  f=$(ls "$images" | grep -E '^(1920x1080|2560x1440)\.' | head -1 || true)
  [ -n "$f" ] || f=$(ls -S "$images" | tail -1)
  ln -sf "$images/$f" "$out/plasma_$(basename "$d").${f##*.}"
done
for f in $(dpkg -L ukui-wallpapers lomiri-wallpapers-16.04 lomiri-wallpapers-20.04 | grep -iE '\.(jpg|jpeg|png)$'); do
  ln -sf "$f" "$out/other_$(basename "$f")"
done
ls "$out" | wc -l
