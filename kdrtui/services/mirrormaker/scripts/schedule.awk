# Written by kdrtui: do not edit, kdrtui overwrites it on deploy.
# kdrtui's schedule maths (kdrtui/domain/schedule.py) in POSIX awk, for the supervisor on the node.
# In: -v now=EPOCH_SECONDS and the settings of supervisor_settings(). Out: one line
#   START END NEXT   (epoch seconds; START and END are -1 between runs; NEXT is -1 when never)
# START..END is the run window now is in (overlapping batches merged), NEXT the next batch start after it.
function inset(arr, v) { return ((v "") in arr) }
function load(list, arr,   n, i, parts) {
    n = split(list, parts, ",")
    for (i = 1; i <= n; i++) arr[parts[i] + 0 ""] = 1
}
# civil date of day d since 1970-01-01 (H. Hinnant's days_from_civil, inverted): sets M and D.
function civil(d,   z, era, doe, yoe, doy, mp) {
    z = d + 719468
    era = int(z / 146097)
    doe = z - era * 146097
    yoe = int((doe - int(doe / 1460) + int(doe / 36524) - int(doe / 146096)) / 365)
    doy = doe - (365 * yoe + int(yoe / 4) - int(yoe / 100))
    mp = int((5 * doy + 2) / 153)
    D = doy - int((153 * mp + 2) / 5) + 1
    M = (mp < 10) ? mp + 3 : mp - 9
}
function daymatch(d,   indays, inweek) {
    civil(d)
    if (!inset(MON, M)) return 0
    indays = inset(DOM, D)
    inweek = inset(DOW, (d + 4) % 7)
    if (days_star || weekdays_star) return indays && inweek
    return indays || inweek
}
# first start minute >= x, or -1
function nextstart(x,   day, rest, d, h, m) {
    if (every > 0) return int((x + every - 1) / every) * every
    day = int(x / 1440)
    rest = x - day * 1440
    for (d = day; d < day + 2932; d++) {
        if (!daymatch(d)) continue
        for (h = 0; h < 24; h++) {
            if (!inset(HOUR, h)) continue
            if (d == day && (h + 1) * 60 <= rest) continue
            for (m = 0; m < 60; m++) {
                if (!inset(MIN, m)) continue
                if (d == day && h * 60 + m < rest) continue
                return d * 1440 + h * 60 + m
            }
        }
    }
    return -1
}
BEGIN {
    S = minute_seconds + 0; run = run_minutes + 0; every = every_minutes + 0
    load(cron_minutes, MIN); load(cron_hours, HOUR); load(cron_days, DOM)
    load(cron_months, MON); load(cron_weekdays, DOW)
    days_star = cron_days_star + 0; weekdays_star = cron_weekdays_star + 0
    cur = int(now / S)
    first = nextstart(cur - run + 1)
    if (first >= 0 && first <= cur) {
        start = first; end = start + run
        for (i = 0; i < 1000; i++) {
            following = nextstart(start + 1)
            if (following < 0 || following > end) break
            start = following; end = following + run
        }
        following = nextstart(end)
        printf "%.0f %.0f %.0f\n", first * S, end * S, (following < 0) ? -1 : following * S
    } else {
        following = nextstart(cur + 1)
        printf "-1 -1 %.0f\n", (following < 0) ? -1 : following * S
    }
}
