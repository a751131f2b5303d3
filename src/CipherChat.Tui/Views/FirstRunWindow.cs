using CipherChat.Tui.ViewModels;
using Terminal.Gui.ViewBase;
using Terminal.Gui.Views;

namespace CipherChat.Tui.Views;

/// <summary>The first-run form: server, user name, TLS, invite code; then the fingerprint to accept.</summary>
internal sealed class FirstRunWindow : Window
{
    private readonly FirstRunModel _model;
    private readonly TextField _server;
    private readonly TextField _user;
    private readonly CheckBox _tls;
    private readonly TextField _invite;
    private readonly Label _message;
    private readonly Button _connect;
    private readonly Button _accept;
    private readonly Button _reject;
    private bool _busy;

    public FirstRunWindow(FirstRunModel model)
    {
        _model = model;
        Title = "CipherChat - first run (Ctrl+Q quits)";
        Width = Dim.Fill();
        Height = Dim.Fill();

        var serverLabel = new Label { X = 1, Y = 1, Text = "Server (HOST[:PORT]):" };
        _server = new TextField { X = 24, Y = 1, Width = Dim.Fill(1) };
        var userLabel = new Label { X = 1, Y = 3, Text = "Your user name:" };
        _user = new TextField { X = 24, Y = 3, Width = Dim.Fill(1) };
        _tls = new CheckBox { X = 24, Y = 5, Text = "Use _TLS (off only for a server started with --tls off)", Value = CheckState.Checked };
        var inviteLabel = new Label { X = 1, Y = 7, Text = "Invite code (if asked):" };
        _invite = new TextField { X = 24, Y = 7, Width = Dim.Fill(1) };
        _connect = new Button { X = 24, Y = 9, Text = "_Connect", IsDefault = true };
        _accept = new Button { X = 24, Y = 9, Text = "_Accept and register", Visible = false };
        _reject = new Button { X = Pos.Right(_accept) + 2, Y = 9, Text = "_Reject", Visible = false };
        _message = new Label { X = 1, Y = 11, Width = Dim.Fill(1), Height = Dim.Fill(1), Text = model.Message };
        Add(serverLabel, _server, userLabel, _user, _tls, inviteLabel, _invite, _connect, _accept, _reject, _message);

        _connect.Accepting += (_, e) =>
        {
            e.Handled = true;
            Run(() => _model.ConnectAsync(_server.Text ?? string.Empty, _user.Text ?? string.Empty, _tls.Value == CheckState.Checked, _invite.Text, CancellationToken.None));
        };
        _accept.Accepting += (_, e) =>
        {
            e.Handled = true;
            Run(() => _model.AcceptAsync(CancellationToken.None));
        };
        _reject.Accepting += (_, e) =>
        {
            e.Handled = true;
            _model.Reject();
            Show();
        };
        _server.SetFocus();
    }

    /// <summary>Whether the user registered (rather than quitting).</summary>
    public bool Registered => _model.Step == FirstRunStep.Done;

    private void Run(Func<Task<bool>> action)
    {
        if (_busy)
        {
            return;
        }

        _busy = true;
        _message.Text = "Connecting...";
        var app = App;
        _ = Task.Run(async () =>
        {
            try
            {
                await action().ConfigureAwait(false);
            }
            finally
            {
                app?.Invoke(() =>
                {
                    _busy = false;
                    Show();
                    if (_model.Step == FirstRunStep.Done)
                    {
                        app.RequestStop();
                    }
                });
            }
        });
    }

    private void Show()
    {
        var confirming = _model.Step == FirstRunStep.Confirming;
        _connect.Visible = !confirming;
        _connect.IsDefault = !confirming;
        _accept.Visible = confirming;
        _accept.IsDefault = confirming;
        _reject.Visible = confirming;
        _server.Enabled = !confirming;
        _user.Enabled = !confirming;
        _tls.Enabled = !confirming;
        _invite.Enabled = !confirming;
        _message.Text = _model.Message;
        if (confirming)
        {
            _accept.SetFocus();
        }
        else
        {
            _connect.SetFocus();
        }

        SetNeedsDraw();
    }
}
