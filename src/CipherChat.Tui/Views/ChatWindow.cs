using CipherChat.Tui.ViewModels;
using Terminal.Gui.App;
using Terminal.Gui.Input;
using Terminal.Gui.ViewBase;
using Terminal.Gui.Views;

namespace CipherChat.Tui.Views;

/// <summary>
/// The chat screen: rooms on the left, the shown room's messages in the middle, the status bar and
/// the input line at the bottom. Keys are taken at the application level so they work whatever has
/// the focus.
/// </summary>
internal sealed class ChatWindow : Window
{
    private const int RoomListWidth = 18;

    private readonly ChatViewModel _vm;
    private readonly RoomListView _roomList;
    private readonly MessagePaneView _pane;
    private readonly StatusBarView _statusBar;
    private readonly Label _prompt;
    private readonly TextField _input;

    public ChatWindow(ChatViewModel vm, TimeProvider time)
    {
        _vm = vm;
        Title = "CipherChat";
        BorderStyle = Terminal.Gui.Drawing.LineStyle.None;
        Width = Dim.Fill();
        Height = Dim.Fill();

        _roomList = new RoomListView(vm.Rooms) { X = 0, Y = 0, Width = RoomListWidth, Height = Dim.Fill(2) };
        _pane = new MessagePaneView(vm) { X = RoomListWidth, Y = 0, Width = Dim.Fill(), Height = Dim.Fill(2) };
        _statusBar = new StatusBarView(vm.Status, time) { X = 0, Y = Pos.AnchorEnd(2), Width = Dim.Fill(), Height = 1 };
        _prompt = new Label { X = 0, Y = Pos.AnchorEnd(1), Text = "> " };
        _input = new TextField { X = Pos.Right(_prompt), Y = Pos.AnchorEnd(1), Width = Dim.Fill(), Height = 1 };
        Add(_roomList, _pane, _statusBar, _prompt, _input);

        vm.Changed += (_, _) => Refresh();
        vm.Rooms.Changed += (_, _) => Refresh();
    }

    /// <summary>Hooks the application's keyboard, paste, bell and a one-second clock for the status bar.</summary>
    public void Attach(IApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.Keyboard.KeyDown += (_, key) => OnKey(key);
        app.Paste += (_, e) =>
        {
            var outcome = _vm.Paste(_input.Text ?? string.Empty, e.Text, out var sending);
            if (outcome != PasteOutcome.Insert)
            {
                e.Handled = true;
            }

            if (outcome == PasteOutcome.Sent)
            {
                _input.Text = string.Empty;
                Observe(sending);
            }
        };
        _vm.BellRequested += (_, _) => app.Driver?.WriteRaw("\a");
        _vm.QuitRequested += (_, _) => app.RequestStop();
        app.AddTimeout(TimeSpan.FromSeconds(1), () =>
        {
            _statusBar.SetNeedsDraw();
            return true;
        });
        _input.SetFocus();
    }

    private void OnKey(Key key)
    {
        if (key == Key.Q.WithCtrl)
        {
            key.Handled = true;
            App?.RequestStop();
        }
        else if (key == Key.Esc)
        {
            // Esc would close the window; in a chat it should only return to the newest messages.
            key.Handled = true;
            _vm.CurrentPane.ScrollToBottom();
        }
        else if (key == Key.Enter)
        {
            key.Handled = true;
            var line = _input.Text ?? string.Empty;
            _input.Text = string.Empty;
            Observe(_vm.SubmitAsync(line));
        }
        else if (key == Key.PageUp)
        {
            key.Handled = true;
            _vm.CurrentPane.PageUp(_pane.Viewport.Width, _pane.PageHeight);
        }
        else if (key == Key.PageDown)
        {
            key.Handled = true;
            _vm.CurrentPane.PageDown(_pane.PageHeight);
        }
        else if (key == Key.CursorUp)
        {
            key.Handled = true;
            if (_vm.History.Up(_input.Text ?? string.Empty) is { } previous)
            {
                SetInput(previous);
            }
        }
        else if (key == Key.CursorDown)
        {
            key.Handled = true;
            if (_vm.History.Down() is { } next)
            {
                SetInput(next);
            }
        }
        else if (key == Key.N.WithCtrl)
        {
            key.Handled = true;
            _vm.NextRoom();
        }
        else if (key == Key.P.WithCtrl)
        {
            key.Handled = true;
            _vm.PreviousRoom();
        }
        else if (key.IsAlt && !key.IsCtrl && DigitOf(key.NoAlt) is { } digit)
        {
            key.Handled = true;
            _vm.SwitchToNumber(digit);
        }
        else
        {
            return;
        }

        Refresh();
    }

    private static int? DigitOf(Key key)
    {
        Key[] digits = [Key.D1, Key.D2, Key.D3, Key.D4, Key.D5, Key.D6, Key.D7, Key.D8, Key.D9];
        for (var i = 0; i < digits.Length; i++)
        {
            if (key == digits[i])
            {
                return i + 1;
            }
        }

        return null;
    }

    private void SetInput(string text)
    {
        _input.Text = text;
        _input.InsertionPoint = text.Length;
    }

    private void Refresh()
    {
        _vm.Status.ScrolledBack = _vm.CurrentPane.IsScrolledBack;
        var room = _vm.Rooms.Active?.Name;
        _prompt.Text = room is null ? "> " : $"[{room}] ";
        _roomList.SetNeedsDraw();
        _pane.SetNeedsDraw();
        _statusBar.SetNeedsDraw();
        SetNeedsLayout();
    }

    private void Observe(Task task)
    {
        // Commands report their own failures in the pane; anything else is a bug, shown rather than lost.
        task.ContinueWith(
            t => App?.Invoke(() => _vm.CurrentPane.AddInfo($"internal error: {t.Exception?.InnerException?.GetType().Name}", DateTimeOffset.UtcNow, isError: true)),
            CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted,
            TaskScheduler.Default);
    }
}
