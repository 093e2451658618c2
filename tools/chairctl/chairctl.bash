# bash completion for chairctl: its verbs and options, program files for validate, plot and install, and
# the names the running chaird takes (program ids, presets, heat zones, axes), asked with `chairctl names`
# of the same chaird the command line would talk to (-H included). Nothing is offered for those when chaird
# is not running.

# The names of KIND (programs, presets, zones, axes) that chaird offers, one per line.
_chairctl_names()
{
        local kind=$1
        shift
        chairctl "$@" names "$kind" 2>/dev/null
}

_chairctl()
{
        local cur prev words cword
        _init_completion || return

        local verbs="status list start stop pause resume estop release reset recline jog heat intensity
                     lock monitor install reload names validate plot schema manual adjust shoulders
                     history usage profile position"
        # Options before the verb; -H (--host) takes the remote USER@HOST.
        local i verb="" verb_at=0 remote=()
        for ((i = 1; i < cword; i++)); do
                case ${words[i]} in
                -H | --host)
                        remote=(-H "${words[i + 1]}")
                        ((i++))
                        ;;
                --host=*) remote=(-H "${words[i]#--host=}") ;;
                -*) ;;
                *)
                        verb=${words[i]}
                        verb_at=$i
                        break
                        ;;
                esac
        done
        if [[ -z $verb ]]; then
                if [[ $prev == -H || $prev == --host ]]; then
                        _known_hosts_real -a -- "$cur"
                elif [[ $cur == -* ]]; then
                        mapfile -t COMPREPLY < <(compgen -W "--json -H --host --help --version" -- "$cur")
                else
                        mapfile -t COMPREPLY < <(compgen -W "$verbs" -- "$cur")
                fi
                return
        fi

        # The option of the verb that takes the word being completed, if any.
        case $prev in
        --duration | -d | --time)
                mapfile -t COMPREPLY < <(compgen -W "30s 1m 5m 10m 15m 20m 30m" -- "$cur")
                return
                ;;
        --intensity | --airbag-intensity)
                mapfile -t COMPREPLY < <(compgen -W "1 2 3 4 5" -- "$cur")
                return
                ;;
        --recline)
                mapfile -t COMPREPLY < <(compgen -W "$(_chairctl_names presets "${remote[@]}")" -- "$cur")
                return
                ;;
        --width)
                mapfile -t COMPREPLY < <(compgen -W "narrow medium wide" -- "$cur")
                return
                ;;
        --technique | --pattern | --area | --from | --to | --speed | --depth | --airbags | --airbag-pattern | \
                --heat | --foot-rollers | --shoulder-offset)
                return
                ;;
        --program | --favourite)
                mapfile -t COMPREPLY < <(compgen -W "$(_chairctl_names programs "${remote[@]}")" -- "$cur")
                return
                ;;
        --config)
                _filedir '@(yaml|yml)'
                return
                ;;
        --patterns)
                _filedir -d
                return
                ;;
        -o | --output)
                _filedir svg
                return
                ;;
        esac

        # Which argument of the verb this is, not counting options and their values.
        local n=0
        for ((i = verb_at + 1; i < cword; i++)); do
                case ${words[i]} in
                --duration | -d | --intensity | --time | --config | --patterns | -o | --output | --technique | \
                --pattern | --area | --from | --to | --speed | --width | --depth | --airbags | --airbag-pattern | \
                --airbag-intensity | --heat | --foot-rollers | --recline | --shoulder-offset | --program | \
                --favourite) ((i++)) ;;
                -*) ;;
                *) ((n++)) ;;
                esac
        done

        local options=""
        case $verb in
        start) options="--duration --intensity --follow" ;;
        manual) options="--technique --pattern --area --from --to --speed --width --depth --airbags
                         --airbag-pattern --airbag-intensity --heat --foot-rollers --recline --duration --follow" ;;
        adjust) options="--speed --width --depth --area --from --to --airbag-intensity --foot-rollers --reset
                         --technique --pattern --airbags --airbag-pattern --heat --recline --duration" ;;
        jog) options="--time" ;;
        profile) [[ ${words[verb_at + 1]} == save ]] && options="--intensity --heat --no-heat --favourite
                         --no-favourites --shoulder-offset --program" ;;
        validate) options="--config --patterns" ;;
        plot) options="--config --patterns --duration -o --output" ;;
        esac
        options+=" --help"
        if [[ $cur == -* ]]; then
                mapfile -t COMPREPLY < <(compgen -W "$options" -- "$cur")
                return
        fi

        local words_for=""
        case $verb,$n in
        start,0) words_for=$(_chairctl_names programs "${remote[@]}") ;;
        recline,0) words_for=$(_chairctl_names presets "${remote[@]}") ;;
        jog,0) words_for=$(_chairctl_names axes "${remote[@]}") ;;
        jog,1) words_for="up down" ;;
        heat,0) words_for=$(_chairctl_names zones "${remote[@]}") ;;
        heat,1) words_for="0 1 2 3" ;;
        intensity,0) words_for="1 2 3 4 5" ;;
        lock,0) words_for="on off" ;;
        names,0) words_for="programs presets zones axes profiles techniques widths areas airbag-zones airbag-patterns" ;;
        profile,0) words_for="list show select save delete" ;;
        profile,1) [[ ${words[verb_at + 1]} == @(show|select|save|delete) ]] &&
                words_for=$(_chairctl_names profiles "${remote[@]}") ;;
        position,0) words_for="save delete" ;;
        schema,0) words_for="program pattern config" ;;
        install,0 | validate,* | plot,0)
                _filedir '@(yaml|yml)'
                return
                ;;
        *) return ;;
        esac
        mapfile -t COMPREPLY < <(compgen -W "$words_for" -- "$cur")
}
complete -F _chairctl chairctl
