using CipherChat.Client;
using CipherChat.Tui.Backend;

namespace CipherChat.Tui.ViewModels;

/// <summary>What a paste did.</summary>
public enum PasteOutcome
{
    /// <summary>A single line: the input field inserts it as typed text.</summary>
    Insert,

    /// <summary>Several lines: they were sent as one message, together with what was in the input.</summary>
    Sent,

    /// <summary>Nothing to do (empty paste).</summary>
    Ignored,
}

/// <summary>
/// The chat screen's state and behaviour, free of any terminal toolkit: the room list, one message
/// pane per room plus a status pane, the input history, the status bar and the slash commands.
/// Every change happens through <c>dispatch</c>, which the screen points at its UI thread.
/// </summary>
public sealed class ChatViewModel : IDisposable
{
    /// <summary>Largest message the input sends (characters); longer text is refused with a pane line.</summary>
    public const int MaxMessageLength = 16_000;

    private readonly IChatBackend _backend;
    private readonly TimeProvider _time;
    private readonly TimeZoneInfo _zone;
    private readonly Action<Action> _dispatch;
    private readonly Dictionary<string, MessagePaneModel> _panes = new(StringComparer.OrdinalIgnoreCase);
    private readonly CancellationTokenSource _life = new();
    private bool _started;

    public ChatViewModel(IChatBackend backend, TimeProvider time, TimeZoneInfo zone, Action<Action> dispatch)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(zone);
        ArgumentNullException.ThrowIfNull(dispatch);
        _backend = backend;
        _time = time;
        _zone = zone;
        _dispatch = dispatch;
        StatusPane = new MessagePaneModel(backend.Username, zone);
        Status = new StatusBarModel(backend.ServerDisplay, backend.Username) { Connection = backend.Connection };
        Rooms.Changed += (_, _) => OnRoomChanged();
    }

    public RoomListModel Rooms { get; } = new();

    public InputHistory History { get; } = new();

    public StatusBarModel Status { get; }

    /// <summary>The pane shown when the user is in no room: welcome text and command output.</summary>
    public MessagePaneModel StatusPane { get; }

    /// <summary>The pane of the shown room, or the status pane.</summary>
    public MessagePaneModel CurrentPane => Rooms.Active is { } room ? PaneFor(room.Name) : StatusPane;

    /// <summary>What an empty room's pane says instead of nothing, or null when there is something to show.</summary>
    public string? EmptyPaneHint =>
        Rooms.Active is { } room && CurrentPane.EntryCount == 0
            ? $"No messages in {room.Name} yet. Type one and press Enter."
            : null;

    /// <summary>Raised after any change the screen must redraw.</summary>
    public event EventHandler? Changed;

    /// <summary>Raised when a message mentions the user: the screen rings the terminal bell.</summary>
    public event EventHandler? BellRequested;

    /// <summary>Raised by <c>/quit</c>.</summary>
    public event EventHandler? QuitRequested;

    public MessagePaneModel PaneFor(string room)
    {
        if (!_panes.TryGetValue(room, out var pane))
        {
            pane = new MessagePaneModel(_backend.Username, _zone);
            _panes[room] = pane;
        }

        return pane;
    }

    /// <summary>Loads rooms and their history, subscribes to live events and connects.</summary>
    public async Task StartAsync(string? initialRoom, CancellationToken cancellationToken)
    {
        if (_started)
        {
            throw new InvalidOperationException("The chat is already started.");
        }

        _started = true;
        _backend.MessageReceived += OnBackendMessage;
        _backend.ConnectionChanged += OnBackendConnection;
        _backend.RoomsChanged += OnBackendRooms;
        _backend.Warning += OnBackendWarning;
        var now = _time.GetUtcNow();
        StatusPane.AddInfo($"Welcome to CipherChat, {_backend.Username}. Type a message and press Enter to send it to the shown room.", now);
        StatusPane.AddInfo("/create NAME makes an end-to-end encrypted room and /invite USER adds people; /dm USER talks to one person; /join NAME KEY joins a shared-key room; /help lists everything. Ctrl+Q quits.", now);

        var rooms = _backend.GetRooms();
        foreach (var room in rooms)
        {
            await LoadHistoryAsync(room.Name, cancellationToken).ConfigureAwait(false);
        }

        Post(() =>
        {
            Rooms.SetRooms(rooms);
            if (initialRoom is not null && !Rooms.Activate(NormalizeRoomArgument(initialRoom)))
            {
                Info($"You are not in the room {initialRoom}: ask a member to /invite you (or /join it with its key).", isError: true);
            }

            if (rooms.Count == 0)
            {
                StatusPane.AddInfo("You are not in any room yet.", _time.GetUtcNow());
            }
        });

        try
        {
            await _backend.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ChatClientException ex)
        {
            Post(() => Info(ex.Message, isError: true));
        }
    }

    /// <summary>Handles a line the user entered: a message for the shown room, or a command.</summary>
    public async Task SubmitAsync(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        History.Add(line);
        var input = CommandParser.Parse(line);
        try
        {
            switch (input.Kind)
            {
                case InputKind.Empty:
                    return;
                case InputKind.Message:
                    await SendAsync(input.Text).ConfigureAwait(false);
                    return;
                default:
                    await RunCommandAsync(input).ConfigureAwait(false);
                    return;
            }
        }
        catch (ChatClientException ex)
        {
            Post(() => Info(ex.Message, isError: true));
        }
        catch (OperationCanceledException) when (_life.IsCancellationRequested)
        {
            // The screen is closing.
        }
    }

    /// <summary>
    /// Handles pasted text. One line is left to the input field; several lines are sent at once as a
    /// single message, after what <paramref name="currentInput"/> already holds.
    /// </summary>
    public PasteOutcome Paste(string currentInput, string pasted, out Task sending)
    {
        ArgumentNullException.ThrowIfNull(currentInput);
        ArgumentNullException.ThrowIfNull(pasted);
        sending = Task.CompletedTask;
        var text = pasted.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n').TrimEnd('\n');
        if (text.Length == 0)
        {
            return PasteOutcome.Ignored;
        }

        if (!text.Contains('\n', StringComparison.Ordinal))
        {
            return PasteOutcome.Insert;
        }

        var message = currentInput + text;
        History.Add(message);
        sending = SendGuardedAsync(message);
        return PasteOutcome.Sent;
    }

    public void NextRoom() => Rooms.Next();

    public void PreviousRoom() => Rooms.Previous();

    /// <summary>Alt+N: shows the N-th room (1-based).</summary>
    public void SwitchToNumber(int number)
    {
        if (!Rooms.ActivateIndex(number - 1))
        {
            Info($"There is no room {number}; you are in {Rooms.Rooms.Count}.", isError: true);
        }
    }

    public void Dispose()
    {
        _backend.MessageReceived -= OnBackendMessage;
        _backend.ConnectionChanged -= OnBackendConnection;
        _backend.RoomsChanged -= OnBackendRooms;
        _backend.Warning -= OnBackendWarning;
        _life.Cancel();
        _life.Dispose();
    }

    private async Task SendGuardedAsync(string text)
    {
        try
        {
            await SendAsync(text).ConfigureAwait(false);
        }
        catch (ChatClientException ex)
        {
            Post(() => Info(ex.Message, isError: true));
        }
        catch (OperationCanceledException) when (_life.IsCancellationRequested)
        {
        }
    }

    private async Task SendAsync(string text)
    {
        if (Rooms.Active is not { } room)
        {
            Info("You are not in a room: /join NAME KEY or /dm USER first, then type your message.", isError: true);
            return;
        }

        if (text.Length > MaxMessageLength)
        {
            Info($"That message is too long ({text.Length} characters; at most {MaxMessageLength}).", isError: true);
            return;
        }

        CurrentPane.ScrollToBottom();
        await _backend.SendAsync(room.Name, text, _life.Token).ConfigureAwait(false);
    }

    private async Task RunCommandAsync(ParsedInput input)
    {
        var command = CommandParser.Find(input.Name);
        if (command is null)
        {
            Info($"Unknown command /{input.Name}. /help lists the commands.", isError: true);
            return;
        }

        if (input.Arguments.Count < command.MinArguments || input.Arguments.Count > command.MaxArguments)
        {
            Info($"Usage: {command.Usage} ({command.Summary})", isError: true);
            return;
        }

        var args = input.Arguments;
        var ct = _life.Token;
        switch (command.Name)
        {
            case "help":
                ShowHelp(args.Count == 1 ? args[0] : null);
                break;
            case "quit":
                QuitRequested?.Invoke(this, EventArgs.Empty);
                break;
            case "rooms":
                ShowRooms();
                break;
            case "switch":
                Switch(args[0]);
                break;
            case "join":
                await JoinAsync(args[0], args.Count == 2 ? args[1] : null, ct).ConfigureAwait(false);
                break;
            case "create":
                {
                    var adminsOnly = args.Count == 2;
                    if (adminsOnly && !string.Equals(args[1], "--admins-only", StringComparison.OrdinalIgnoreCase))
                    {
                        Info($"Usage: {command.Usage} ({command.Summary})", isError: true);
                        break;
                    }

                    var room = await _backend.CreateRoomAsync(NormalizeRoomArgument(args[0]), adminsOnly, ct).ConfigureAwait(false);
                    var who = adminsOnly ? "Only admins (you, for now) may add or remove members." : "Any member may add or remove members.";
                    Post(() => Entered(room, $"Created {room.Name} ({room.Encryption}). {who} /invite USER adds people."));
                    break;
                }

            case "dm":
                {
                    var room = await _backend.OpenDirectAsync(args[0].TrimStart('@'), ct).ConfigureAwait(false);
                    Post(() => Entered(room, $"Direct conversation {room.Name} ({room.Encryption})."));
                    break;
                }

            case "invite":
            case "remove":
                {
                    if (RequireRoom() is not { } room)
                    {
                        break;
                    }

                    var user = args[0].TrimStart('@');
                    if (command.Name == "invite")
                    {
                        await _backend.InviteAsync(room.Name, user, ct).ConfigureAwait(false);
                        Post(() => Info($"Invited {user} to {room.Name}."));
                    }
                    else
                    {
                        await _backend.RemoveAsync(room.Name, user, ct).ConfigureAwait(false);
                        Post(() => Info($"Removed {user} from {room.Name}."));
                    }

                    break;
                }

            case "leave":
                {
                    if (RequireRoom() is not { } room)
                    {
                        break;
                    }

                    await _backend.LeaveAsync(room.Name, ct).ConfigureAwait(false);
                    Post(() =>
                    {
                        _panes.Remove(room.Name);
                        Rooms.SetRooms(_backend.GetRooms());
                        Info($"You left {room.Name}.");
                    });
                    break;
                }

            case "whois":
                {
                    var who = await _backend.WhoisAsync(args[0].TrimStart('@'), ct).ConfigureAwait(false);
                    Post(() => ShowWhois(who));
                    break;
                }
        }
    }

    private async Task JoinAsync(string name, string? key, CancellationToken ct)
    {
        var room = NormalizeRoomArgument(name);
        if (key is null)
        {
            if (Rooms.Activate(room))
            {
                return;
            }

            Info($"To join the shared-key room {room}, give its key: /join {room} KEY. For an MLS room, ask a member to /invite you.", isError: true);
            return;
        }

        var info = await _backend.JoinSharedKeyRoomAsync(room, key, ct).ConfigureAwait(false);
        Post(() => Entered(info, $"Joined {info.Name} ({info.Encryption}). Everyone holding the key can read it."));
    }

    private void Entered(RoomInfo room, string message)
    {
        Rooms.SetRooms(_backend.GetRooms().Append(room));
        Rooms.Activate(room.Name);
        Info(message);
        _ = LoadAndShowAsync(room.Name);
    }

    private async Task LoadAndShowAsync(string room)
    {
        try
        {
            await LoadHistoryAsync(room, _life.Token).ConfigureAwait(false);
        }
        catch (ChatClientException ex)
        {
            Post(() => Info(ex.Message, isError: true));
        }
        catch (OperationCanceledException) when (_life.IsCancellationRequested)
        {
        }
    }

    private async Task LoadHistoryAsync(string room, CancellationToken ct)
    {
        var messages = await _backend.GetHistoryAsync(room, ct).ConfigureAwait(false);
        Post(() =>
        {
            var pane = PaneFor(room);
            foreach (var m in messages)
            {
                pane.AddMessage(m);
            }

            RaiseChanged();
        });
    }

    private RoomInfo? RequireRoom()
    {
        if (Rooms.Active is { } room)
        {
            return room.Room;
        }

        Info("No room is shown: /switch NAME first.", isError: true);
        return null;
    }

    private void Switch(string target)
    {
        if (int.TryParse(target, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var number))
        {
            SwitchToNumber(number);
            return;
        }

        var name = target.StartsWith('@') ? target : NormalizeRoomArgument(target);
        if (!Rooms.Activate(name))
        {
            Info($"You are not in {target}. /rooms lists your rooms.", isError: true);
        }
    }

    private void ShowRooms()
    {
        if (Rooms.Rooms.Count == 0)
        {
            Info("You are not in any room. /create NAME, /dm USER or /join NAME KEY.");
            return;
        }

        Info("Your rooms:");
        for (var i = 0; i < Rooms.Rooms.Count; i++)
        {
            var r = Rooms.Rooms[i];
            Info($"  {RoomListModel.Label(r, i)}  [{r.Room.Encryption}]");
        }
    }

    private void ShowHelp(string? topic)
    {
        if (topic is not null)
        {
            if (CommandParser.Find(topic) is { } one)
            {
                Info($"{one.Usage}: {one.Summary}");
            }
            else
            {
                Info($"There is no command {topic}. /help lists the commands.", isError: true);
            }

            return;
        }

        Info("Enter sends to the shown room. /help NAME: more.");
        foreach (var c in CommandParser.Commands)
        {
            Info($"  {c.Usage,-17} {c.Brief}");
        }

        Info("Alt+1..9, Ctrl+N/P: switch; PgUp/PgDn: scroll");
        Info("Up/Down: input history; Ctrl+Q: quit");
        Info("Start a line with // to send one beginning with /");
    }

    private void ShowWhois(WhoisInfo who)
    {
        if (who.KeyChangedWarning is not null)
        {
            Info(who.KeyChangedWarning, isError: true);
        }

        Info($"{who.User}: key fingerprint {who.Fingerprint}");
        if (who.SafetyNumber is null)
        {
            Info("No safety number yet: it exists once you share an end-to-end encrypted room.");
            return;
        }

        Info($"Safety number with {who.User}: {who.SafetyNumber}");
        Info("Compare it with theirs in person or scan the code below; if it matches, their key is really theirs.");
        foreach (var row in QrText.Render(who.QrText ?? who.SafetyNumber))
        {
            Info(row);
        }
    }

    private static string NormalizeRoomArgument(string name) =>
        name.StartsWith('@') ? name.ToLowerInvariant() : name.TrimStart('#').ToLowerInvariant();

    private void OnBackendWarning(object? sender, string warning) => Post(() => Info(warning, isError: true));

    private void OnBackendMessage(object? sender, ChatMessage message) => Post(() =>
    {
        if (Rooms.IndexOf(message.Room) < 0)
        {
            // A room we did not know of, e.g. someone opened a direct conversation with us.
            Rooms.SetRooms(_backend.GetRooms().Append(new RoomInfo(message.Room, "unknown")));
        }

        if (!PaneFor(message.Room).AddMessage(message))
        {
            return;
        }

        var own = string.Equals(message.Sender, _backend.Username, StringComparison.OrdinalIgnoreCase);
        var mention = !own && message.Kind == MessageKind.Chat && message.Text is not null && MentionDetector.Mentions(message.Text, _backend.Username);
        if (!own)
        {
            Rooms.CountMessage(message.Room, mention);
        }

        if (mention || (message.Room.StartsWith('@') && !own && Rooms.Active?.Name != message.Room))
        {
            BellRequested?.Invoke(this, EventArgs.Empty);
        }

        RaiseChanged();
    });

    private void OnBackendConnection(object? sender, ConnectionStatus status) => Post(() =>
    {
        Status.Connection = status;
        if (status.Detail is not null)
        {
            Info(status.Detail, isError: status.State != ConnectionState.Connected);
        }

        RaiseChanged();
    });

    private void OnBackendRooms(object? sender, EventArgs e) => Post(() => Rooms.SetRooms(_backend.GetRooms()));

    private void OnRoomChanged()
    {
        Status.Room = Rooms.Active?.Room;
        RaiseChanged();
    }

    private void Info(string text, bool isError = false)
    {
        CurrentPane.AddInfo(text, _time.GetUtcNow(), isError);
        RaiseChanged();
    }

    private void RaiseChanged()
    {
        Status.ScrolledBack = CurrentPane.IsScrolledBack;
        Changed?.Invoke(this, EventArgs.Empty);
    }

    private void Post(Action action)
    {
        if (!_life.IsCancellationRequested)
        {
            _dispatch(action);
        }
    }
}
