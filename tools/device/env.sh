# Sourced by train.sh and ablation.sh ON the lent machine, with root and work set: installs the
# staged wheels, lays out road's package-dir namespace (road.core = core/, ...) as links without
# installing, sets PYTHONPATH, and stands the staged data in for ../shared/data.
mkdir -p "$work/pkg/road"
if compgen -G ".device/whl/*.whl" >/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
        --target "$work/site" .device/whl/*.whl
fi
cp road/*.py "$work/pkg/road/"
for part in core training export runtime service score; do
    ln -sfn "$root/$part" "$work/pkg/road/$part"
done
export PYTHONPATH="$work/pkg:$work/site" PYTHONUNBUFFERED=1
# Configs name ../shared/data; the staged copy stands in for it.
if [ ! -e ../shared/data ]; then mkdir -p ../shared && ln -sfn "$root/.device/data" ../shared/data; fi
